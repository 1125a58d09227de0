package ewssim

import (
	"net/http"
	"strconv"
)

// serveEWSGet answers GET and HEAD on the EWS endpoint as IIS and
// Exchange do. Authentication works as for POST, so a client may run the
// NTLM handshake (Type 1, then Type 3) over GETs and then POST on the
// authenticated connection. An authenticated GET gets Exchange's service
// page (the WCF help page Exchange 2010 and later show for
// /EWS/Exchange.asmx), HTTP 200, with no SOAP.
func (s *Sim) serveEWSGet(w http.ResponseWriter, r *http.Request) {
	if s.authenticate(w, r) == nil {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(servicePage)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(servicePage))
	}
}

const servicePage = `<!DOCTYPE html><html><head><title>Service</title></head><body><div id="content">` +
	`<p class="heading1">Service</p><br/><p class="intro">You have created a service.<p class="intro">` +
	`To test this service, you will need to create a client and use it to call the service. ` +
	`You can do this using the svcutil.exe tool from the command line with the following syntax:</p>` +
	`<pre>svcutil.exe https://localhost/EWS/Services.wsdl</pre></p></div></body></html>`
