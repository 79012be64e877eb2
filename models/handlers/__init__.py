"""RunInference model handlers and the scorer plugins the stream job loads by name."""
