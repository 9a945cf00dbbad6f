"""One module per dump format, listed in registry.py; what they share: base.py (the contract), vocabulary.py (rows,
ids, authors, dates), safety.py (text safety, bounds). flows.extract picks among them by sniffing."""
