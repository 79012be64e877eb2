-- The schema as `Base.metadata.create_all` made it before migrations (git f873bf0),
-- compiled once for sqlite: what Alembic revision 0001 must adopt.

CREATE TABLE alerts (
	comment_id VARCHAR(512) NOT NULL,
	source VARCHAR(512) NOT NULL,
	url TEXT NOT NULL,
	author VARCHAR(512),
	published_at DATETIME,
	crawled_at DATETIME NOT NULL,
	raw_text TEXT NOT NULL,
	clean_text TEXT NOT NULL,
	tokens JSON NOT NULL,
	keywords JSON NOT NULL,
	label VARCHAR(16) NOT NULL,
	score FLOAT NOT NULL,
	model VARCHAR(64) NOT NULL,
	model_version VARCHAR(64) NOT NULL,
	kafka_topic VARCHAR(255) NOT NULL,
	kafka_partition INTEGER NOT NULL,
	kafka_offset INTEGER NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (comment_id)
);

CREATE INDEX ix_alerts_created_at ON alerts (created_at);

CREATE INDEX ix_alerts_score ON alerts (score);

CREATE INDEX ix_alerts_source ON alerts (source);

CREATE TABLE dead_letters (
	id INTEGER NOT NULL,
	stage VARCHAR(64) NOT NULL,
	reason TEXT NOT NULL,
	raw BLOB NOT NULL,
	record_id VARCHAR(512),
	kafka_topic VARCHAR(255),
	kafka_partition INTEGER,
	kafka_offset INTEGER,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (kafka_topic, kafka_partition, kafka_offset)
);

CREATE INDEX ix_dead_letters_created_at ON dead_letters (created_at);

CREATE INDEX ix_dead_letters_stage ON dead_letters (stage);
