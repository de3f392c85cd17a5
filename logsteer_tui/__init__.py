"""Logsteer TUI: SMS and email with a company's contacts, from the terminal."""

__version__ = "0.1.0"
