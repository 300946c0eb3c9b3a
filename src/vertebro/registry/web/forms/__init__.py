"""The app's forms: plain-words errors beside each field; services do the writing."""
