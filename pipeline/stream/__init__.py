"""The Beam streaming job: read Kafka, process text, score, decide, write to the store."""
