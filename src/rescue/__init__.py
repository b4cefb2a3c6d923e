"""rescue: event-sourced roadside rescue and dispatch."""
