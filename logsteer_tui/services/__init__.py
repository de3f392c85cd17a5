"""The product's logic: asyncio only, and never importing Textual."""
