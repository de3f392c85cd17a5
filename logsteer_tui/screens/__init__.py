"""The screens of the Logsteer TUI, one module each."""
