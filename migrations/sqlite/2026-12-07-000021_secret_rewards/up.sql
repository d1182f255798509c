-- A secret tier is left out of public listings and the campaign page; whoever holds its token
-- (the creator shares it with a community) sees it and may pledge on it. The token is made the
-- first time the tier is secret and kept, so a link once shared keeps working.
ALTER TABLE reward_tiers ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public'
    CONSTRAINT reward_tiers_visibility_check CHECK (visibility IN ('public', 'secret'));
ALTER TABLE reward_tiers ADD COLUMN secret_token TEXT
    CONSTRAINT reward_tiers_secret_token_check CHECK (visibility = 'public' OR secret_token IS NOT NULL);
