"""Text processing shared by the pipeline, training and the CLI: clean, segment, correct."""
