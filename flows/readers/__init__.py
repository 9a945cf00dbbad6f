"""One module per dump format; flows.extract picks among them by sniffing."""
