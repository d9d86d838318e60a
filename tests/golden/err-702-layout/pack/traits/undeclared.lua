return { apiVersion = "oamlua/v1", name = "undeclared", version = "1.0.0", description = "x", render = function() end }
