"""HTTP routes beside /graphql."""
