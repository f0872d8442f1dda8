"""HTTP routers: parse, call one service method, shape the response. No business rules."""
