"""The conductor: settings, command line, scheduler, crawler and the pipeline."""
