# shellcheck shell=bash
# The cluster's certificates (its own CA, made with openssl at every cold `up`) and kubeconfigs.

gen_pki() {
  [[ -f $PKI/.done ]] && return 0
  mkdir -p "$PKI"; chmod 700 "$PKI"
  local o=(-sha256 -days 3650)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
    -subj "/CN=aml-cluster-ca" "${o[@]}" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  cert() { # name subject eku [san]
    local n=$1 subj=$2 eku=$3 san=${4:-}
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$n.key" -out "$PKI/$n.csr" -subj "$subj" 2>/dev/null
    {
      echo "basicConstraints=critical,CA:FALSE"
      echo "keyUsage=critical,digitalSignature,keyEncipherment"
      echo "extendedKeyUsage=$eku"
      [[ -z $san ]] || echo "subjectAltName=$san"
    } >"$PKI/$n.ext"
    openssl x509 -req -in "$PKI/$n.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -extfile "$PKI/$n.ext" \
      -out "$PKI/$n.crt" "${o[@]}" 2>/dev/null
    rm -f "$PKI/$n.csr" "$PKI/$n.ext"
  }
  cert apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,DNS:localhost,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  cert admin "/O=system:masters/CN=aml-admin" clientAuth
  cert controller-manager "/CN=system:kube-controller-manager" clientAuth
  cert scheduler "/CN=system:kube-scheduler" clientAuth
  cert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  cert kubelet-server "/CN=$NODE_NAME" serverAuth "IP:127.0.0.1,DNS:localhost"
  # Front proxy (aggregated APIs): its own CA, as kubeadm does.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/front-proxy-ca.key" \
    -out "$PKI/front-proxy-ca.crt" -subj "/CN=aml-front-proxy-ca" "${o[@]}" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/front-proxy-client.key" \
    -out "$PKI/front-proxy-client.csr" -subj "/CN=front-proxy-client" 2>/dev/null
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$PKI/fp.ext"
  openssl x509 -req -in "$PKI/front-proxy-client.csr" -CA "$PKI/front-proxy-ca.crt" -CAkey "$PKI/front-proxy-ca.key" \
    -CAcreateserial -extfile "$PKI/fp.ext" -out "$PKI/front-proxy-client.crt" "${o[@]}" 2>/dev/null
  rm -f "$PKI/front-proxy-client.csr" "$PKI/fp.ext"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
  touch "$PKI/.done"
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
