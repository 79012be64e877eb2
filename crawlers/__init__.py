"""The Scrapy project: spiders parse sites into items; ``KafkaPipeline`` turns them into records."""
