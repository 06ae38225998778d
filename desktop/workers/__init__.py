"""The only Qt glue around long work: QObject workers on QThreads, signals carrying a job id."""
