"""What each root field does: unpack the Context, check, call a service, shape the answer."""
