// Command api is the API Lambda behind API Gateway (REST API, IAM auth)
// (functions/internal/apifn wires it).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mailbridge/mailbridge/functions/internal/apifn"
	"github.com/mailbridge/mailbridge/functions/internal/lambdaenv"
	"github.com/mailbridge/mailbridge/shared/platform/config"
)

func main() {
	lambda.Start(lambdaenv.Must(apifn.New(context.Background(), config.Env())))
}
