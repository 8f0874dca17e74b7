terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    local = {
      source  = "hashicorp/local"
      version = "~> 2.5"
    }
  }

  # Local state by default (terraform.tfstate here; keep it safe, it holds no secrets
  # but it is the only record of what was created). For a team, use a remote state:
  #
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "mlops-vm/terraform.tfstate"
  #   region       = "eu-central-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { Project = "mlops-vm" }
  }
}
