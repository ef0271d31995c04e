package model

// Version is the project version written into checkpoints and exported files.
const Version = "0.1.0"
