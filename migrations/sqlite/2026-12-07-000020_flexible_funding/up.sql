-- Whether backers are charged only when the goal is reached (the default) or whatever the
-- total; set in draft and frozen at launch.
ALTER TABLE campaigns ADD COLUMN funding_model TEXT NOT NULL DEFAULT 'all_or_nothing'
    CONSTRAINT campaigns_funding_model_check CHECK (funding_model IN ('all_or_nothing', 'flexible'));
