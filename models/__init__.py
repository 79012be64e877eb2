"""Sentiment models: labelled data, the LSTM, training, evaluation and Beam model handlers."""
