# Generates unsupported_table.go from the EWS schema (run in
# ../shared/ews/schema/v2016): for every WSDL operation, its request
# element, response element and response message element, and the
# required (empty) elements the response message must hold. Operations
# whose response needs content that cannot be empty are left out (they
# keep the ErrorInvalidRequest fault).
import xml.etree.ElementTree as ET
XS = '{http://www.w3.org/2001/XMLSchema}'
W = '{http://schemas.xmlsoap.org/wsdl/}'
# Their required elements cannot be empty (found by validating).
SKIP = {'GetAppManifests', 'FindAvailableMeetingTimes', 'FindMeetingTimeCandidates'}
wsdl = ET.parse('services.wsdl').getroot()
msgs = {m.get('name'): [p.get('element') for p in m.findall(W+'part')] for m in wsdl.findall(W+'message')}
ops = []
for pt in wsdl.findall(W+'portType'):
    for op in pt.findall(W+'operation'):
        i = op.find(W+'input').get('message').split(':')[1]
        o = op.find(W+'output').get('message').split(':')[1]
        req = [e for e in msgs[i] if e.startswith('tns:')][0][4:]
        resp = [e for e in msgs[o] if e.startswith('tns:')][0][4:]
        ops.append((op.get('name'), req, resp))
m = ET.parse('messages.xsd').getroot()
elems = {e.get('name'): e.get('type') for e in m.findall(XS+'element')}
types = {t.get('name'): t for t in m.findall(XS+'complexType')}
def base(tn):
    t = types.get(tn.split(':')[-1])
    if t is None:
        return None
    ext = t.find('.//'+XS+'extension')
    return ext.get('base').split(':')[-1] if ext is not None else None
def chain(tn):
    out = []
    while tn:
        out.append(tn)
        tn = base(tn)
    return out
arr = types['ArrayOfResponseMessagesType']
choice = {e.get('name'): e.get('type').split(':')[-1] for e in arr.iter(XS+'element')}
def required(tn):
    req = []
    for c in chain(tn):
        if c in ('ResponseMessageType', 'BaseResponseMessageType'):
            break
        t = types[c]
        ext = t.find('.//'+XS+'extension')
        node = ext if ext is not None else t
        for e in node.iter(XS+'element'):
            if e.get('minOccurs', '1') != '0':
                req.append((e.get('name') or e.get('ref'), e.get('type') or ''))
    return req
def render(req):
    out = ''
    for n, t in req:
        if t.split(':')[-1].startswith('ArrayOf'):
            out += '<m:%s/>' % n
        elif t == 'xs:boolean':
            out += '<m:%s>false</m:%s>' % (n, n)
        else:
            return None
    return out
print('// Code generated from services.wsdl and messages.xsd (EWS schema v2016); DO NOT EDIT.')
print('// Regenerate: cd ../shared/ews/schema/v2016 && python3 <repo>/shared/exchange/ewssim/testdata/gen_unsupported_table.py > <repo>/shared/exchange/ewssim/unsupported_table.go; gofmt -w it.')
print()
print('package ewssim')
print()
print("// unsupportedShapes maps every EWS operation's request element to the")
print('// shape of its response, for the answer to an operation the simulator')
print('// does not implement (unsupported.go).')
print('var unsupportedShapes = map[string]unsupportedShape{')
for name, req, resp in ops:
    if name in SKIP:
        continue
    rt = elems.get(resp, '?').split(':')[-1]
    ch = chain(rt)
    if 'BaseResponseMessageType' in ch:
        cand = name + 'ResponseMessage'
        if cand not in choice:
            continue
        extra = render(required(choice[cand]))
        if extra is None:
            continue
        print('\t"%s": {op: "%s", response: "%s", message: "%s", extra: "%s"},' % (req, name, resp, cand, extra))
    elif 'ResponseMessageType' in ch:
        extra = render(required(rt))
        if extra is None:
            continue
        print('\t"%s": {op: "%s", response: "%s", flat: true, extra: "%s"},' % (req, name, resp, extra))
    else:
        first = types[rt].find('.//'+XS+'element')
        if first is not None and first.get('name') == 'ResponseMessage':
            print('\t"%s": {op: "%s", response: "%s", message: "ResponseMessage"},' % (req, name, resp))
print('}')
