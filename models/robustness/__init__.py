"""A behavioural robustness suite for the sentiment models, in the spirit of CheckList.

``suite.toml`` holds the sentences, templates and word lists (written by the Yuqing team),
:mod:`.perturb` the perturbations, :mod:`.suite` their expansion into cases and :mod:`.runner`
the scoring and the pass rules; ``yuqing eval robustness`` prints the figures.
"""
