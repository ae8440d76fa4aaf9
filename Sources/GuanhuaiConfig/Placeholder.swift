enum PlaceholderGuanhuaiConfig {}
