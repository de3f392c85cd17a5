"""Reusable widgets of the Logsteer TUI."""
