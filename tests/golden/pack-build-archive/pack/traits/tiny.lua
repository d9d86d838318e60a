return { apiVersion = "oamlua/v1", name = "tiny", version = "0.0.1", description = "does nothing", render = function() end }
