"""Running a build: the engine, publishing, the lock, the manifest and the diff."""
