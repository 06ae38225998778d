"""The Hugging Face hub, beneath the engine and the preprocessors that both fetch from it:
downloads with progress (`downloads`), and whether a model is here or the hub is reachable
(`local_cache`). Knows nothing of torch or models beyond file names."""
