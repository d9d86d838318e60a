return { apiVersion = "oamlua/v1", name = "versions", version = "1.0.0", description = "x", render = function() end }
