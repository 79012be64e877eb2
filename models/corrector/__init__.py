"""The spelling corrector's language model: its corpus, its build, and synthetic typos."""
