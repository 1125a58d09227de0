package example

// A secret in a production file, named as one: the demo's app secret.
const demoAppSecret = "Prod-secret-5"
