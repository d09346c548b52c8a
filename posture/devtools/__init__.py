"""Development tools: the demo, synthetic history, and the emulator's command."""
