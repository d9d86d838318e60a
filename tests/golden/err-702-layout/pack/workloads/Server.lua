return { apiVersion = "oamlua/v1", name = "Server", version = "1.0.0", description = "x", render = function() end }
