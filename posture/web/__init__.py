"""Pages and the JSON API: views parse, call a domain function, respond."""
