package example

var (
	basic = credential{Username: "svc", Password: "Struct-pw-1"}
	oauth = credential{ClientID: "app", ClientSecret: "Struct-secret-2"}
	short = credential{Username: "u", Password: "pw"}
	body  = `{"credentials":{"kind":"basic","username":"svc-json","password":"Json-pw-3"}}`
)

const testPassword = "Const-pw-4"

var (
	named  = credential{Username: "svc-const", Password: testPassword}
	demoID = "not-a-secret-name"
)
