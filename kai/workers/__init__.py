"""Background tasks: the dispatchers (in-process, taskiq on Redis), the runner, the sweeper."""
