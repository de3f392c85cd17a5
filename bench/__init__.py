"""Benchmarks of Logsteer TUI and the generator of their large database."""
