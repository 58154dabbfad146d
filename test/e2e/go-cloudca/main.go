// Drives Nimbus's CloudMC surface with go-cloudca, the cloud.ca Go client, as a user would:
// CLOUDMC_URL (the surface's /api/v2 base) and CLOUDMC_KEY (an API key) in the environment,
// an environment named by CLOUDMC_ENVIRONMENT on the compute service. Prints one JSON object
// per step on stdout; the test that runs it checks them.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	cca "github.com/cloud-ca/go-cloudca"
	"github.com/cloud-ca/go-cloudca/api"
	"github.com/cloud-ca/go-cloudca/services/cloudca"
)

func report(step string, value interface{}, err error) {
	out := map[string]interface{}{"step": step, "value": value}
	if err != nil {
		out["error"] = err.Error()
		if response, ok := err.(api.CcaErrorResponse); ok {
			out["status"] = response.StatusCode
			out["errors"] = response.Errors
		}
	}
	line, _ := json.Marshal(out)
	fmt.Println(string(line))
}

func main() {
	client := cca.NewCcaClientWithURL(os.Getenv("CLOUDMC_URL"), os.Getenv("CLOUDMC_KEY"))

	environments, err := client.Environments.List()
	report("environments", environments, err)
	connections, err := client.ServiceConnections.List()
	report("serviceConnections", connections, err)

	services, _ := client.GetResources("compute", os.Getenv("CLOUDMC_ENVIRONMENT"))
	resources := services.(cloudca.Resources)

	offerings, err := resources.ComputeOfferings.List()
	report("computeOfferings", offerings, err)
	templates, err := resources.Templates.List()
	report("templates", templates, err)
	var offering string
	for _, o := range offerings {
		if o.Name == "1vCPU.128MB" {
			offering = o.Id
		}
	}

	created, err := resources.Instances.Create(cloudca.Instance{Name: "go-web", TemplateId: os.Getenv("CLOUDMC_TEMPLATE"), ComputeOfferingId: offering})
	report("create", created, err)
	if err != nil {
		return
	}
	_, err = resources.Instances.Stop(created.Id)
	report("stop", nil, err)
	_, err = resources.Instances.Stop(created.Id)
	report("stopAgain", nil, err)
	stopped, err := resources.Instances.Get(created.Id)
	report("get", stopped, err)
	_, err = resources.Instances.Start(created.Id)
	report("start", nil, err)
	instances, err := resources.Instances.List()
	report("list", instances, err)
	_, err = resources.Instances.Purge(created.Id)
	report("purge", nil, err)
	_, err = resources.Instances.Destroy(created.Id, true)
	report("destroy", nil, err)
	exists, err := resources.Instances.Exists(created.Id)
	report("exists", exists, err)
}
