# Provider-free: nothing to download, works offline.
terraform {
  required_version = ">= 1.6"
}
