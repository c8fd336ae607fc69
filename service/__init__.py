"""The composition root: command line, configuration, logging, the service process."""
