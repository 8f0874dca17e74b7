variable "host" {
  description = "IP address or DNS name of your Debian 12 machine."
  type        = string
}

variable "ssh_user" {
  description = "SSH user with passwordless sudo on it."
  type        = string
  default     = "admin"
}

variable "ssh_port" {
  description = "Port of its sshd."
  type        = number
  default     = 22
}

variable "ssh_private_key_file" {
  description = "Private key Ansible uses to log in."
  type        = string
  default     = "~/.ssh/id_ed25519"
}

variable "public_hostname" {
  description = "Name users type in the browser (TLS, MLflow allowed hosts); empty = host."
  type        = string
  default     = ""
}

variable "data_dir" {
  description = "Where data lives on the machine (mount your data disk here)."
  type        = string
  default     = "/var/lib/mlops"
}

variable "inventory_path" {
  description = "Where the Ansible inventory is written; the default is where site.yml looks."
  type        = string
  default     = "../../../ansible/inventory/hosts.yml"
}
