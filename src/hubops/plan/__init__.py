"""Plans: desired vs live state as data, independent of how they are shown or sent."""
