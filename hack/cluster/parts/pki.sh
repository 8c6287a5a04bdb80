# shellcheck shell=bash
# The cluster's certificates (its own CA, made with openssl at every cold `up`) and kubeconfigs.

PKI_OPTS=(-sha256 -days 3650)

new_ca() { # name common-name   (kept when it exists)
  [[ -f $PKI/$1.crt ]] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.crt" \
    -subj "/CN=$2" "${PKI_OPTS[@]}" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

issue_cert() { # ca name subject eku [san]   (kept when it exists)
  local ca=$1 n=$2 subj=$3 eku=$4 san=${5:-}
  [[ -f $PKI/$n.crt ]] && return 0
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$n.key" -out "$PKI/$n.csr" -subj "$subj" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -z $san ]] || echo "subjectAltName=$san"
  } >"$PKI/$n.ext"
  openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial -extfile "$PKI/$n.ext" \
    -out "$PKI/$n.crt" "${PKI_OPTS[@]}" 2>/dev/null
  rm -f "$PKI/$n.csr" "$PKI/$n.ext"
}

# Every certificate and key the cluster uses; only missing ones are made, so a newer version of
# this script adds its new identities to a running cluster's PKI.
gen_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  new_ca ca aml-cluster-ca
  issue_cert ca apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,DNS:localhost,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue_cert ca apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  issue_cert ca admin "/O=system:masters/CN=aml-admin" clientAuth
  issue_cert ca controller-manager "/CN=system:kube-controller-manager" clientAuth
  issue_cert ca scheduler "/CN=system:kube-scheduler" clientAuth
  issue_cert ca kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  issue_cert ca kubelet-server "/CN=$NODE_NAME" serverAuth "IP:127.0.0.1,DNS:localhost"
  issue_cert ca kube-proxy "/CN=system:kube-proxy" clientAuth # bound to system:node-proxier by default
  issue_cert ca coredns "/CN=system:coredns" clientAuth      # bound by dns.sh's ClusterRoleBinding
  # Front proxy (aggregated APIs): its own CA, as kubeadm does.
  new_ca front-proxy-ca aml-front-proxy-ca
  issue_cert front-proxy-ca front-proxy-client "/CN=front-proxy-client" clientAuth
  if [[ ! -f $PKI/sa.key ]]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  chmod 600 "$PKI"/*.key
}

write_kubeconfig() { # file user cert-name [embed]
  local f=$1 user=$2 n=$3 embed=${4:-}
  if [[ -n $embed ]]; then
    cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: aml-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$n.crt")
    client-key-data: $(base64 -w0 "$PKI/$n.key")
contexts:
- name: aml-local
  context: {cluster: aml-local, user: $user, namespace: default}
current-context: aml-local
EOF
  else
    cat >"$f" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: aml-local
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$PKI/ca.crt"}
users:
- name: $user
  user: {client-certificate: "$PKI/$n.crt", client-key: "$PKI/$n.key"}
contexts:
- name: aml-local
  context: {cluster: aml-local, user: $user}
current-context: aml-local
EOF
  fi
  chmod 600 "$f"
}
