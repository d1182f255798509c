DROP TABLE campaign_updates;
