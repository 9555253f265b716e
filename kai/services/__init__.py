"""The application's use cases, one service per area; they know no transport (GraphQL, HTTP)."""
