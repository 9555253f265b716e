"""The GraphQL types, one module per area (as `kai.models` is); the root Query,
Mutation and Subscription that gather each area's fields are in `kai.graphql.schema`."""
