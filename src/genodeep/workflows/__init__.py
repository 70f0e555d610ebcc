"""File-level jobs between the CLI and the compute packages: read files, call tensor-level code, write outputs."""
