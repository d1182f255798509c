DROP TRIGGER campaign_search_refresh ON campaigns;
DROP FUNCTION campaign_search_refresh();
DROP TABLE campaign_search;
DROP FUNCTION campaign_search_document(TEXT, TEXT);
