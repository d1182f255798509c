DROP TABLE comment_digests;
DROP TABLE comment_reports;
DROP TABLE comments;
